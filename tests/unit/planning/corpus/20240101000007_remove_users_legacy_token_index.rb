class RemoveUsersLegacyTokenIndex < ActiveRecord::Migration[6.1]
  def change
    remove_index :users, :legacy_token
  end
end
# verdict: post_deploy: the old code's queries may still lean on the index
