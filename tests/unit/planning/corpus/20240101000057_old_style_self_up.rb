class OldStyleSelfUp < ActiveRecord::Migration
  def self.up
    add_column :users, :legacy, :boolean
  end

  def self.down
    remove_column :users, :legacy
  end
end
# verdict: pre_deploy: Rails 3 style, adds a column
