class ChangeUsersTableRemovals < ActiveRecord::Migration[7.1]
  def change
    change_table(:users) do |t|
      t.remove :old_a, :old_b
      t.rename :login, :username
      t.remove_index :legacy_token
    end
  end
end
# verdict: manual: the block renames a column, which breaks one code version
