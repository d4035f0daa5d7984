class RemoveLegacyTokenFromUsers < ActiveRecord::Migration[6.1]
  def change
    remove_column :users, :legacy_token, :string
  end
end
# verdict: post_deploy: User ignores legacy_token at --to, so the new code never writes it
