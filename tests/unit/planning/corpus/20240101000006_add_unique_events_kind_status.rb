class AddUniqueEventsKindStatus < ActiveRecord::Migration[7.2]
  disable_ddl_transaction!

  def change
    add_index :events, %w[kind status], unique: true
  end
end
# verdict: pre_deploy: unique index: additive once the data has no duplicates
