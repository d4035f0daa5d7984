class RemoveUsersSsn < ActiveRecord::Migration[7.1]
  def change
    remove_column :users, :ssn, :string
  end
end
# verdict: manual: User still caches ssn: add it to ignored_columns first
# reason: self.ignored_columns += ["ssn"]
