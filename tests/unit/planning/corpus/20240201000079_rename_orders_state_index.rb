class RenameOrdersStateIndex < ActiveRecord::Migration[6.1]
  def change
    rename_index :orders, "index_orders_on_state", "index_orders_on_workflow_state"
  end
end
# verdict: pre_deploy: the code never names indexes: a rename is safe on both sides
