class DepartureDisabledChangeColumn < ActiveRecord::Migration[5.2]
  disable_departure!

  def up
    change_column :comments, :body, :text, null: false
  end
end
# verdict: manual: a column type change, whether or not departure runs it
# reason: column type change
