class AddReportingIndex < ActiveRecord::Migration[7.0]
  disable_ddl_transaction!

  def change
    add_index :orders, [:created_at, :state], name: "idx_orders_reporting", algorithm: :inplace
  end
end
# verdict: post_deploy: the app put it in db/post_migrate: after the code
