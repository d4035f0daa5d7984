class ConditionalBranches < ActiveRecord::Migration[7.1]
  def change
    if column_exists?(:users, :tmp)
      remove_column :users, :tmp
    else
      add_column :users, :kept, :string
    end
  end
end
# verdict: manual: may drop tmp, which User does not ignore
