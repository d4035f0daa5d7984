require "open3"

class GhOstAddOrdersChannel < ActiveRecord::Migration[7.0]
  def up
    output, status = Open3.capture2e(
      "gh-ost",
      "--host=#{ENV.fetch("DB_HOST")}", "--database=#{ENV.fetch("DB_NAME")}", "--table=orders",
      "--alter=ADD COLUMN channel VARCHAR(32) NOT NULL DEFAULT 'web', ADD INDEX index_orders_on_channel (channel)",
      "--allow-on-master", "--chunk-size=1000", "--execute"
    )
    raise "gh-ost failed:\n#{output}" unless status.success?
  end
end
# verdict: pre_deploy: gh-ost adds a column with a default and its index: additive
