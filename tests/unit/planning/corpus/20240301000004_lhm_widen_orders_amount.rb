class LhmWidenOrdersAmount < ActiveRecord::Migration[6.0]
  def up
    Lhm.change_table :orders do |m|
      m.change_column :amount, "DECIMAL(12,2) NOT NULL"
    end
  end
end
# verdict: manual: a column type change may break either code version, and NULL amounts would stop the copy
# reason: column type change
