class LhmRenameUsersLogin < ActiveRecord::Migration[6.0]
  def up
    Lhm.change_table :users do |m|
      m.rename_column :login, :username
    end
  end
end
# verdict: manual: a rename through LHM still breaks whichever code runs on the other side of the swap
# reason: expand/contract
