class DefaultUsersStatus < ActiveRecord::Migration[7.0]
  def change
    change_column_default :users, :status, from: nil, to: "active"
  end
end
# verdict: pre_deploy: a new default changes nothing the old code relies on
