class AddTimestampsToWidgets < ActiveRecord::Migration[6.1]
  def change
    add_timestamps :widgets, null: true
  end
end
# verdict: pre_deploy: new columns: additive
