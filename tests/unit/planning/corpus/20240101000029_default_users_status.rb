class DefaultUsersStatus < ActiveRecord::Migration[7.0]
  def change
    change_column_default :users, :status, from: nil, to: "active"
  end
end
