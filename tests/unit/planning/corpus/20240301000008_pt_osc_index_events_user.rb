class PtOscIndexEventsUser < ActiveRecord::Migration[6.1]
  def up
    config = ActiveRecord::Base.connection_db_config.configuration_hash
    system("pt-online-schema-change --alter 'ADD INDEX idx_events_user_created (user_id, created_at)' " \
           "--alter-foreign-keys-method auto --max-load Threads_running=25 --execute " \
           "h=#{config[:host]},u=#{config[:username]},p=#{config[:password]},D=#{config[:database]},t=events") or
      raise "pt-online-schema-change failed"
  end

  def down
    execute "DROP INDEX idx_events_user_created ON events"
  end
end
# verdict: pre_deploy: pt-online-schema-change adds an index: additive, the old code keeps working
