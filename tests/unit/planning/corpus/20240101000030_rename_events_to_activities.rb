class RenameEventsToActivities < ActiveRecord::Migration[7.1]
  def change
    rename_table :events, :activities
  end
end
# verdict: manual: a table rename breaks one code version whichever side it runs
