class SomethingElse < ActiveRecord::Migration[7.1]
  def change
    add_column :users, :y, :string
  end
end
# verdict: manual: the class does not match the file name: db:migrate raises NameError
