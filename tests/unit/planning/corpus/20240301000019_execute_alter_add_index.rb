class ExecuteAlterAddIndex < ActiveRecord::Migration[6.1]
  def up
    execute "ALTER TABLE orders ADD INDEX idx_orders_state_created (state, created_at), ALGORITHM=INPLACE, LOCK=NONE"
    execute <<~SQL
      CREATE UNIQUE INDEX idx_orders_number ON orders (number)
    SQL
  end
end
# verdict: pre_deploy: two indexes in plain SQL: additive; the unique one needs the duplicates check
