class IndexSubscriptionBillingEventsLegacy < ActiveRecord::Migration[7.0]
  def change
    add_index :subscription_billing_events, [:subscription_account_id, :billing_period_started_at]
  end
end
# verdict: manual: 7.0 raises on the 90-character generated name: the migration fails
# reason: is too long
