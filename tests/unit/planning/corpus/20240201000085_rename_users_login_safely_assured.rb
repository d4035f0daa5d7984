class RenameUsersLoginSafelyAssured < ActiveRecord::Migration[7.1]
  def change
    safety_assured { rename_column :users, :login, :handle }
  end
end
# verdict: manual: safety_assured does not make a rename safe for the other code version
