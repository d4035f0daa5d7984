class RenameUsersName < ActiveRecord::Migration[6.1]
  def change
    rename_column :users, :name, :full_name
  end
end
# verdict: manual: a rename breaks whichever code version uses the other name: expand/contract it
# reason: expand/contract
