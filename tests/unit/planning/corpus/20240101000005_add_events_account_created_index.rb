class AddEventsAccountCreatedIndex < ActiveRecord::Migration[7.0]
  def change
    # the dashboard query filters by account and sorts by time
    add_index :events, %i[account_id created_at]
  end
end
# verdict: pre_deploy: a composite non-unique index: additive
