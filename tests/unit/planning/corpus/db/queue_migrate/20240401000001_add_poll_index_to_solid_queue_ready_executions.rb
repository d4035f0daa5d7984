class AddPollIndexToSolidQueueReadyExecutions < ActiveRecord::Migration[7.1]
  def change
    add_index :solid_queue_ready_executions, [:queue_name, :priority, :job_id],
              name: "index_solid_queue_poll_by_queue_and_priority"
  end
end
# database: queue
# verdict: pre_deploy: a plain index on the queue database builds online; old and new workers poll the same rows
