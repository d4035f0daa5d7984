class LhmAddStatusToOrders < ActiveRecord::Migration[7.0]
  def up
    Lhm.change_table :orders do |m|
      m.add_column :status, "VARCHAR(255) NOT NULL DEFAULT 'pending'"
      m.add_column :shipped_at, "DATETIME NULL"
    end
  end

  def down
    Lhm.change_table :orders do |m|
      m.remove_column :status
      m.remove_column :shipped_at
    end
  end
end
# verdict: pre_deploy: a NOT NULL column with a default and a nullable column: the old code's INSERTs still work
