require "lhm"

class LhmAddUniqueSlugToAccounts < ActiveRecord::Migration[6.1]
  def self.up
    Lhm.change_table :accounts, atomic_switch: true do |m|
      m.add_unique_index [:tenant_id, :slug]
      m.add_index(:created_at, "idx_accounts_created")
      m.add_index "name(32)"
    end
  end

  def self.down
    Lhm.change_table :accounts do |m|
      m.remove_index [:tenant_id, :slug]
    end
  end
end
# verdict: pre_deploy: three indexes added on LHM's copy: additive; the unique one needs the duplicates check first
