class ParenthesizedCalls < ActiveRecord::Migration[7.0]
  def change
    add_index(:orders, [:state, :created_at], name: "idx_orders_state_created")
    add_column(:orders, :note, :text)
  end
end
# verdict: pre_deploy: additive, with parentheses
