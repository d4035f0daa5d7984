# Runs through ghost_adapter when GHOST_MIGRATE=1: it looks and plans like any migration.
class GhostAdapterAddReference < ActiveRecord::Migration[6.1]
  def change
    add_reference :comments, :account, index: true
  end
end
# verdict: pre_deploy: a nullable reference with its index, additive like any other
