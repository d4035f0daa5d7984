class AddIndexToOrdersUserId < ActiveRecord::Migration[5.2]
  def change
    add_index :orders, :user_id
  end
end
# verdict: pre_deploy: a plain index builds online and only adds
