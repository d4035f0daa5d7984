class DropLegacyEvents < ActiveRecord::Migration[7.1]
  def change
    drop_table :legacy_events do |t|
      t.string :payload
      t.timestamps
    end
  end
end
# verdict: post_deploy: no model maps the table at --to; drop it once the old code is gone
