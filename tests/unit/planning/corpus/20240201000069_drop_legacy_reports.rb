class DropLegacyReports < ActiveRecord::Migration[6.1]
  drop_table :legacy_reports, if_exists: true

  def change
  end
end
# verdict: post_deploy: a class-body drop_table runs when the file loads; no model uses the table
