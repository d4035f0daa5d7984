class LhmDdlAddFlagsToEvents < ActiveRecord::Migration[6.1]
  def up
    Lhm.change_table :events do |m|
      m.ddl("ALTER TABLE %s ADD COLUMN flags INT UNSIGNED NOT NULL DEFAULT 0" % m.name)
      m.ddl("alter table `#{m.name}` add index idx_events_flags (flags), add column note text")
    end
  end
end
# verdict: pre_deploy: m.ddl against m.name adds two columns and an index on LHM's copy: additive
