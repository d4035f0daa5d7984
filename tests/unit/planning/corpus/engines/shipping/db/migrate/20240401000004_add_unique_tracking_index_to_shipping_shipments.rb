# An engine kept inside the app (engines/shipping), whose engine.rb appends its db/migrate to the app's paths.
class AddUniqueTrackingIndexToShippingShipments < ActiveRecord::Migration[7.1]
  disable_ddl_transaction!

  def change
    add_index :shipping_shipments, [:carrier, :tracking_number], unique: true,
              name: "index_shipping_shipments_on_carrier_tracking", algorithm: :inplace
  end
end
# verdict: pre_deploy: a unique index the engine's code does not rely on yet; duplicates are checked before it builds
