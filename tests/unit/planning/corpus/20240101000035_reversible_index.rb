class ReversibleIndex < ActiveRecord::Migration[7.0]
  def change
    add_column :orders, :shipped_at, :datetime
    reversible do |dir|
      dir.up { add_index :orders, :shipped_at }
      dir.down { remove_index :orders, :shipped_at }
    end
  end
end
# verdict: pre_deploy: the `up` branch adds an index
