class PtOscDryRunOnly < ActiveRecord::Migration[6.1]
  def up
    system("pt-online-schema-change --dry-run --alter 'ADD INDEX idx_orders_state (state)' D=app,t=orders")
  end
end
# verdict: manual: a dry run changes nothing, so the index the plan would wait for never appears
# reason: without --execute
