class SwapOrdersUserIndex < ActiveRecord::Migration[7.1]
  def change
    add_index :orders, [:user_id, :created_at]
    remove_index :orders, :user_id
  end
end
# verdict: pre_deploy: an index swap: the table keeps an index on user_id throughout
