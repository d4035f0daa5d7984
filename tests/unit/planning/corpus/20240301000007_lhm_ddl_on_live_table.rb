class LhmDdlOnLiveTable < ActiveRecord::Migration[6.1]
  def up
    Lhm.change_table :events do |m|
      m.ddl("ALTER TABLE events ADD COLUMN source VARCHAR(64)")
    end
  end
end
# verdict: manual: the statement names the live table, not LHM's copy: it runs as blocking DDL and the swap loses it
# reason: not the copy LHM swaps in
