class RemoveUsersLegacyFlag < ActiveRecord::Migration[7.0]
  def change
    remove_column :users, :legacy_flag, :boolean
  end
end
# verdict: post_deploy: db/post_migrate, and User ignores legacy_flag
