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
# verdict: manual: LHM copies and swaps the table outside Rails: a person runs it
# reason: LHM
