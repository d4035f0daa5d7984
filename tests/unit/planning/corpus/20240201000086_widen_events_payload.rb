class WidenEventsPayload < ActiveRecord::Migration[7.1]
  def up
    change_column :events, :payload, :text, size: :medium
  end

  def down
    change_column :events, :payload, :text
  end
end
# verdict: manual: a type change rebuilds the table with writes blocked
