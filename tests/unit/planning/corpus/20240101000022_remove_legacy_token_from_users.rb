class RemoveLegacyTokenFromUsers < ActiveRecord::Migration[6.1]
  def change
    remove_column :users, :legacy_token, :string
  end
end
