# This migration comes from billing (originally 20240115093000)
class CreateBillingInvoices < ActiveRecord::Migration[8.0]
  def change
    create_table :billing_invoices do |t|
      t.references :account, null: false, foreign_key: { to_table: :customer_accounts }
      t.string :number, null: false
      t.decimal :total, precision: 12, scale: 2, null: false, default: 0
      t.timestamps
    end
    add_index :billing_invoices, :number, unique: true
  end
end
# verdict: pre_deploy: an engine's new table
