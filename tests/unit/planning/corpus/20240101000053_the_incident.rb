class TheIncident < ActiveRecord::Migration[6.1]
  def change
    add_foreign_key :orders, :accounts
    add_index :orders, [:account_id, :created_at]
  end
end
# verdict: pre_deploy: additive; the foreign key needs its own migration (warned)
