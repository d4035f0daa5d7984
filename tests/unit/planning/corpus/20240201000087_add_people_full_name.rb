class AddPeopleFullName < ActiveRecord::Migration[7.1]
  def change
    add_column :people, :full_name, :virtual, type: :string, as: "CONCAT(first_name, ' ', last_name)", stored: true
  end
end
# verdict: pre_deploy: additive, but a STORED generated column rebuilds the table (warned)
