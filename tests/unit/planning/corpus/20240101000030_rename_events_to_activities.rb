class RenameEventsToActivities < ActiveRecord::Migration[7.1]
  def change
    rename_table :events, :activities
  end
end
