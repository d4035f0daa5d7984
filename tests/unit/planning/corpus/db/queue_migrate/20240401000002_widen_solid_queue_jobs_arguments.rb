class WidenSolidQueueJobsArguments < ActiveRecord::Migration[7.1]
  def up
    change_column :solid_queue_jobs, :arguments, :text, limit: 16.megabytes
  end

  def down
    change_column :solid_queue_jobs, :arguments, :text
  end
end
# database: queue
# verdict: manual: TEXT to MEDIUMTEXT copies the whole jobs table and blocks enqueues while it does; pick the time
# reason: a column type change
