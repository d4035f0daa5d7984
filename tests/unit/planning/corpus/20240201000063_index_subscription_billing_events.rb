class IndexSubscriptionBillingEvents < ActiveRecord::Migration[7.1]
  def change
    add_index :subscription_billing_events, [:subscription_account_id, :billing_period_started_at]
  end
end
# verdict: pre_deploy: additive; 7.1 shortens the long name to idx_on_..._<hash>
