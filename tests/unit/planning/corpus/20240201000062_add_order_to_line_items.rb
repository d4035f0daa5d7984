class AddOrderToLineItems < ActiveRecord::Migration
  def change
    add_reference :line_items, :order
  end
end
# verdict: pre_deploy: Rails 4.2 add_reference: a column and no index
