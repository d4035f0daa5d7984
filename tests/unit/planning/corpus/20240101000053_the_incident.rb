class TheIncident < ActiveRecord::Migration[6.1]
  def change
    add_foreign_key :orders, :accounts
    add_index :orders, [:account_id, :created_at]
  end
end
