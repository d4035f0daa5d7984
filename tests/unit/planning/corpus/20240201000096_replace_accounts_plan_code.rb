class ReplaceAccountsPlanCode < ActiveRecord::Migration[7.1]
  def change
    add_reference :customer_accounts, :plan, foreign_key: true
    remove_column :customer_accounts, :plan_code, :string
  end
end
# verdict: manual: adds what the new code needs and drops what the old code uses: split it
