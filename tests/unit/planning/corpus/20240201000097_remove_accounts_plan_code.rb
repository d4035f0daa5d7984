class RemoveAccountsPlanCode < ActiveRecord::Migration[7.1]
  def change
    remove_column :customer_accounts, :plan_code, :string
  end
end
# verdict: post_deploy: Billing::Account (table_name customer_accounts) ignores plan_code
