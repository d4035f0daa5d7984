class DropUsersStatusDefault < ActiveRecord::Migration[7.1]
  def change
    change_column_default :users, :status, from: "active", to: nil
  end
end
# verdict: manual: users.status is NOT NULL: old INSERTs that omit it fail without the default
# reason: ERROR 1364
