require "lhm"

class LhmAddArbitraryToUsers < ActiveRecord::Migration[5.2]
  def up
    Lhm.change_table :users do |m|
      m.add_column :arbitrary, "INT(12)"
      m.add_index [:arbitrary, :created_at]
    end
  end

  def down
    Lhm.change_table :users do |m|
      m.remove_column :arbitrary
    end
  end
end
# verdict: pre_deploy: LHM adds a nullable column and an index on a copy and swaps it in: additive, the old code keeps working
